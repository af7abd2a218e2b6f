"""The registry's domain: values, rules, aggregates and events.

Nothing in this package performs I/O, touches cryptography or logs.
"""
