"""The saga pattern: an order that undoes its completed steps, in reverse, when a step fails."""
