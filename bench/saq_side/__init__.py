"""SAQ as its docs show it: a Redis queue, `saq` worker processes, a startup hook per process."""
