"""Versioned prompt templates: one Markdown file per agent, with ``## system`` and ``## user`` sections.

A template's version is the hash of its file, stored with every call, so a changed prompt can never be
confused with the old one (and never hits the old cache entries).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

from judges.errors import ConfigError

__all__ = ["PromptTemplate", "delimit", "load_prompt", "neutralise"]


@dataclass(frozen=True)
class PromptTemplate:
    """A system and a user template with ``$placeholders``."""

    name: str
    system: str
    user: str
    version: str
    """``<name>@<first 12 hex of the file's sha256>``."""

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with every placeholder filled; a missing value is a ConfigError."""
        try:
            return [
                {"role": "system", "content": Template(self.system).substitute(values).strip()},
                {"role": "user", "content": Template(self.user).substitute(values).strip()},
            ]
        except KeyError as e:
            raise ConfigError(f"prompt {self.name}: no value for placeholder {e}") from e


def parse_prompt(name: str, text: str) -> PromptTemplate:
    """Split a prompt file into its sections."""
    sections = dict(re.findall(r"^## (system|user)\s*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    if set(sections) != {"system", "user"}:
        raise ConfigError(f"prompt {name}: needs exactly a '## system' and a '## user' section")
    version = f"{name}@{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return PromptTemplate(name, sections["system"], sections["user"], version)


@cache
def load_prompt(name: str) -> PromptTemplate:
    """Load a shipped prompt by file stem, e.g. ``tom.v1``."""
    path = resources.files("judges").joinpath("prompts", f"{name}.md")
    if not path.is_file():
        raise ConfigError(f"no prompt file judges/prompts/{name}.md")
    return parse_prompt(name, path.read_text(encoding="utf-8"))


def neutralise(tag: str, text: str) -> str:
    """The text as the judge sees it inside ``<tag>`` markers: markers inside it replaced."""
    return re.sub(rf"</?\s*{tag}\s*>", "[removed marker]", text, flags=re.I)


def delimit(tag: str, text: str) -> str:
    """Wrap untrusted text in ``<tag>`` markers, neutralising any marker inside it."""
    return f"<{tag}>\n{neutralise(tag, text)}\n</{tag}>"
