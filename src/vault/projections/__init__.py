"""Read models built from the event log, each tracked so that it applies every event once."""
