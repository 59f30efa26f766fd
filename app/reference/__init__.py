"""Reference data: seed writes it (states, areas, drugs, events); listings read it for the API."""
