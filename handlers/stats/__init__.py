"""Statistics and reports: /stats, its charts, and /export."""
