"""What tests and benchmarks share, without pytest: live processes (live.py) and the staff
site in-process with a kiosk that pushes (site.py)."""
