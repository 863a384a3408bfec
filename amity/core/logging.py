"""Log hygiene: secrets never reach the logs."""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(amy_[A-Za-z0-9_\-]{8})[A-Za-z0-9_\-]+"),  # API tokens: keep the prefix only
    re.compile(r"((?:password|passwd|secret|token|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+", re.I),
    re.compile(r"(://[^:/\s]+:)[^@/\s]+(@)"),  # credentials inside URLs
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(2) if m.lastindex and m.lastindex > 1 else ""), text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
