"""Status transitions declared as data: each status field says once which moves it allows.

A model declares ``TRANSITIONS = Transitions(Status, {source: {targets}})``
and every writer reads that one declaration: a service ``check``s a move
before writing it (TransitionRefused when it is not declared), a set-based
sweep filters its conditional UPDATE on ``status__in=TRANSITIONS.sources(target)``
so a row in any other status is left alone, and a form offers
``TRANSITIONS.targets(current)``. The matrix test (tests/test_transitions.py)
enumerates every pair of every declaration against the services and sweeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.db import models

from pmaas.errors import TransitionRefused


class Transitions(Mapping[str, frozenset[str]]):
    """The moves one status field allows: a mapping from each status to the statuses it may become.

    A status the declaration leaves out may become nothing (it is final).
    ``repeatable``: a move to the status a row already has is accepted and
    changes nothing, because the services that make it are idempotent;
    without it such a move is refused like any undeclared one. ``field`` is
    the status field, named by a refusal so a form shows it there; ``noun``
    is what a refusal calls a row (the model's verbose name when empty).
    """

    def __init__(
        self,
        choices: type[models.TextChoices],
        moves: Mapping[str, Iterable[str]],
        *,
        repeatable: bool = False,
        field: str = "status",
        noun: str = "",
    ) -> None:
        self.states: tuple[str, ...] = tuple(choices.values)
        self._labels: dict[str, str] = {value: str(label) for value, label in choices.choices}
        unknown = {s for source, targets in moves.items() for s in (source, *targets)} - set(self.states)
        if unknown:
            # A typo here would silently forbid (or allow) a move: refuse it at import time.
            raise ValueError(f"Transitions name statuses {choices.__name__} does not have: {sorted(unknown)}")
        self._moves: dict[str, frozenset[str]] = {
            state: frozenset(str(target) for target in moves.get(state, ())) for state in self.states
        }
        self.repeatable = repeatable
        self.field = field
        self.noun = noun

    def __set_name__(self, owner: Any, name: str) -> None:
        # Declared in a model's class body: its verbose name is the noun of a refusal.
        self._model = owner

    def __getitem__(self, source: str) -> frozenset[str]:
        return self._moves[source]

    def __iter__(self) -> Iterator[str]:
        return iter(self._moves)

    def __len__(self) -> int:
        return len(self._moves)

    def can_move(self, source: str, target: str) -> bool:
        """Whether ``source`` may become ``target``; staying put is never a move."""
        return target in self._moves.get(source, frozenset())

    def targets(self, source: str) -> tuple[str, ...]:
        """What ``source`` may become, in the order the choices declare them (for a form's options)."""
        return tuple(state for state in self.states if self.can_move(source, state))

    def sources(self, target: str) -> tuple[str, ...]:
        """Every status that may become ``target``, for a sweep's ``status__in=``; ``target`` itself never."""
        return tuple(state for state in self.states if self.can_move(state, target))

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every (source, target) pair of statuses, declared or not, for matrix tests."""
        return ((source, target) for source in self.states for target in self.states)

    def check(self, source: str, target: str, *, field: str | None = None) -> bool:
        """Refuse an undeclared move; say whether a declared one has anything to write.

        Returns True for a declared move, False when a repeatable declaration
        finds the row already in ``target`` (nothing to write), and raises
        TransitionRefused otherwise, naming ``field`` (the status field
        unless the caller's input has another name).
        """
        if self.can_move(source, target):
            return True
        if source == target and self.repeatable:
            return False
        described = f"{self.label(source).lower()} {self._noun()}"
        article = "An" if described[0] in "aeiou" else "A"
        raise TransitionRefused(
            f"{article} {described} cannot become {self.label(target).lower()}.",
            source=source,
            target=target,
            field=field or self.field,
        )

    def label(self, state: str) -> str:
        return self._labels.get(state, state)

    def _noun(self) -> str:
        if self.noun:
            return self.noun
        model = getattr(self, "_model", None)
        return str(model._meta.verbose_name) if model is not None else "row"
