"""A name → object registry that refuses duplicates instead of silently renaming them."""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from gate.errors import GateError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def add(self, item: T) -> None:
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise GateError(f"a {self.what} without a name was registered: {item!r}")
        if name in self._items:
            raise GateError(f"two {self.what}s are registered as {name!r}; rename one of the plugins")
        self._items[name] = item

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)
