"""`DurableConfig`, the library's one configuration value: what it refuses, as a table."""

import importlib
from types import MappingProxyType
from typing import Any

import pytest
import taskiq_durable
from taskiq_durable import DurableConfig

from core.settings import Settings


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"queues": ()}, "at least one queue"),
        ({"queues": ("default", "default")}, "queue names repeat"),
        ({"queues": ("a:b",)}, "bad queue name 'a:b'"),
        ({"queues": ("",)}, "bad queue name ''"),
        ({"queues": (" default",)}, "bad queue name ' default'"),
        ({"queues": ("default",), "worker_queue": "urgent"}, "worker queue 'urgent' is not one"),
        ({"task_routes": {"reports.*": "reports"}}, "names unknown queue 'reports'"),
    ],
)
def test_bad_configuration_is_refused_when_built(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        DurableConfig(**fields)


def test_the_default_queue_is_the_first_and_keys_share_the_prefix() -> None:
    config = DurableConfig(redis_prefix="shop", queues=("emails", "default"), worker_queue="emails")
    assert config.default_queue == "emails"
    assert config.key("queue", "emails") == "shop:queue:emails"


def test_routes_cannot_be_changed_after_the_config_is_built() -> None:
    routes = {"reports.*": "default"}
    config = DurableConfig(task_routes=routes)
    routes["images.*"] = "default"  # the caller's dict is copied...
    assert dict(config.task_routes) == {"reports.*": "default"}
    assert isinstance(config.task_routes, MappingProxyType)  # ...and the copy is read-only
    with pytest.raises(TypeError):
        config.task_routes["x"] = "default"  # type: ignore[index]


def test_the_stacks_settings_fill_every_field_of_the_config() -> None:
    settings = Settings(_env_file=None, queues=("default", "urgent", "emails"), redis_prefix="p")
    config = settings.durable()
    assert config.queues == ("default", "urgent", "emails")
    for field in DurableConfig.__dataclass_fields__:
        assert getattr(config, field) == getattr(settings, field), field


def test_the_queues_setting_reads_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUES", "default, urgent ,emails")
    assert Settings(_env_file=None).queues == ("default", "urgent", "emails")


def test_every_public_name_resolves() -> None:
    # The package exports lazily (a CPU-pool process imports none of the broker): every name
    # in __all__ must resolve, and nothing else may.
    for name in taskiq_durable.__all__:
        module = importlib.import_module(taskiq_durable._EXPORTS[name])
        assert getattr(taskiq_durable, name) is getattr(module, name)
    assert set(taskiq_durable.__all__) == set(taskiq_durable._EXPORTS)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = taskiq_durable.nope
