"""The one error type for broken business rules (as opposed to malformed fields)."""


class RuleViolation(Exception):
    """Raised by services when a request is well-formed but the rules forbid it."""
