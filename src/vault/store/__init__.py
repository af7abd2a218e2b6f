"""Storage adapters: the event store, field encryption, key store, blind indexes and tables."""
