"""Elements (要素保障): the industrial-fund and land ledgers and their shared settings."""
