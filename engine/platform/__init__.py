"""The floor every package stands on: settings, database and unit of work, models base, organisation, audit, outbox."""
