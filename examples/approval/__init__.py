"""Human in the loop: a workflow that waits for an approval signal, with a timeout."""
