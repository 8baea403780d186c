"""SLA engine: working calendar, rules and deadlines."""
