"""The project record and what officials do with it: registration, corrections, meetings, the ledger and inbox reads."""
