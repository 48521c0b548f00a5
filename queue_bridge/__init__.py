"""The queue bridge: ticket events in, live queue status, public page and open data out."""
