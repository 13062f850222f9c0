"""Running the stack: the release step, embedded servers, `make up`."""
