"""Errors a user may see; each message says what went wrong and, where possible, how to fix it."""


class RagError(Exception):
    """Base of every error the library raises on purpose."""


class DocumentError(RagError):
    """A file that cannot be ingested (empty, binary, unreadable, undecodable, too large, wrong type)."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class IndexMismatchError(RagError):
    """The saved index was built with another embedding model or settings."""


class IndexBusyError(RagError):
    """Another process is writing the index."""


class LLMUnavailable(RagError):
    """The chosen LLM backend cannot answer (server down, model missing); the message names the fix."""


class QuestionError(RagError):
    """An empty or over-long question."""


class PromptError(RagError):
    """A prompt template is missing or was rendered without one of its variables."""


class IndexDamagedError(RagError):
    """The saved index exists but cannot be read as written; the message says what is wrong and how to repair it."""


class IndexLocationError(RagError):
    """The index folder is a file, or cannot be created or written."""


class SettingsError(RagError):
    """A setting (environment variable or rag.toml) has an invalid value."""
