"""Supervision of the work: warning lights, progress notes, coordination items, targets, assessment and notices."""
