"""What the kiosk and the admin share: the database set-up, the programme's
schedule rules and the sync protocol's record shapes. Neither side's internals."""
