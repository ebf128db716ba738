"""Fan-out/fan-in: provision a batch of hosts concurrently, then configure each in a child."""
