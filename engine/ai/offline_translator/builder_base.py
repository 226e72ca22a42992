"""The shared base of the Builder parts: the reading context and the methods one part calls in another."""

from __future__ import annotations

from engine.ai.offline_translator.conditions import CondParser
from engine.ai.offline_translator.model import Act, Ctx, Decision
from engine.ai.offline_translator.naming import Namer


class BuilderBase:
    """What every part of :class:`Builder` can use: the context, the namer, the condition parser."""

    ctx: Ctx
    namer: Namer
    conds: CondParser

    def _append(self, seq: list, st) -> None:
        raise NotImplementedError  # defined in another part of Builder

    def _conditional(self, seq: list, kind: str, cond_text: str | None, body_text: str, negate: bool) -> list | None:
        raise NotImplementedError  # defined in another part of Builder

    def _imperative(self, text: str) -> bool:
        raise NotImplementedError  # defined in another part of Builder

    def _rewrite(self, s: str) -> str:
        raise NotImplementedError  # defined in another part of Builder

    def _track_people(self, s: str) -> None:
        raise NotImplementedError  # defined in another part of Builder

    def _subject_condition(self, s: str):
        raise NotImplementedError  # defined in another part of Builder

    def _retry_sentence(self, s: str, seq: list) -> tuple[bool, list | None]:
        raise NotImplementedError  # defined in another part of Builder

    def _still_fails(self, cond_text: str | None) -> bool:
        raise NotImplementedError  # defined in another part of Builder

    def _set_fallback(self, text: str) -> list:
        raise NotImplementedError  # defined in another part of Builder

    def _failed_step(self, cond_text: str, seq: list) -> Act | None:
        raise NotImplementedError  # defined in another part of Builder

    def _unanswered_approval(self, cond_text: str, seq: list) -> Act | None:
        raise NotImplementedError  # defined in another part of Builder

    @staticmethod
    def _step_named_by(subject: str, earlier: list) -> Act | None:
        raise NotImplementedError  # defined in another part of Builder

    def _fallback_of(self, act: Act, text: str, cond_text: str = "", seq: list | None = None) -> list | None:
        raise NotImplementedError  # defined in another part of Builder

    def _fallback_to_decision(self, seq: list, kind: str, cond_text: str | None) -> Decision | None:
        raise NotImplementedError  # defined in another part of Builder

    def act(self, text: str) -> Act:
        raise NotImplementedError  # defined in another part of Builder

    def body(self, text: str, allow_par: bool = True, parallel: bool = False) -> list:
        raise NotImplementedError  # defined in another part of Builder

    def sentence(self, s: str, seq: list) -> list | None:
        raise NotImplementedError  # defined in another part of Builder
