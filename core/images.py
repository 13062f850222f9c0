"""Image maths for the image pipeline, pure: bytes in, bytes out, no I/O."""

import io

from PIL import Image, UnidentifiedImageError

# Decoding a tiny file into a huge canvas is the classic image bomb; Pillow's own guard warns
# at ~89 Mpx and raises at twice that. We raise at the warning level.
MAX_PIXELS = 89_478_485


class ImageError(ValueError):
    """The bytes are not an image this pipeline accepts; the message says why."""


def thumbnail_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """The size that fits in `max_side` x `max_side`, keeping the ratio; never upscaled."""
    if width < 1 or height < 1 or max_side < 1:
        raise ValueError("sizes must be positive")
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_thumbnail(data: bytes, max_side: int) -> tuple[bytes, int, int]:
    """A PNG thumbnail of the image in `data`, with its width and height."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"image of {image.width}x{image.height} pixels is too large")
            size = thumbnail_size(image.width, image.height, max_side)
            resized = image.convert("RGBA").resize(size, Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"not a readable image: {exc}") from exc
    out = io.BytesIO()
    resized.save(out, format="PNG", optimize=True)
    return out.getvalue(), size[0], size[1]
