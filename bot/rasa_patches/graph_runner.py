"""Run the trained model's graph in plain Python instead of through dask, in the Rasa server.

Rasa 3.6 runs its NLU and policy graphs through ``dask.get`` for every message: building the dask
graph, ordering and scheduling it costs the Rasa server time on every message (measured:
bench/README.md), for graphs of a dozen nodes run one after the other anyway.
:class:`SequentialGraphRunner` computes the same nodes with the same inputs in dependency order
(each node once) and returns the same results.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Type

from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` with the same nodes and semantics, computed without dask."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """As ``DaskGraphRunner``; also keeps the minimal schema of each set of targets."""
        super().__init__(*args, **kwargs)
        self._minimal: Dict[Tuple[str, ...], GraphSchema] = {}

    def run(
        self,
        inputs: Optional[Dict[str, Any]] = None,
        targets: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        """Run the nodes ``targets`` need (all targets when ``None``); outputs by target name.

        As with dask: an input is the pair ``(name, value)``, a node gets its needs' outputs in
        order, and a need that is neither a node nor an input is passed as its name.

        Raises:
            GraphRunError: An input is named like a node, or a node raised ``RuntimeError``.
        """
        run_targets = list(targets) if targets else list(self._graph_schema.target_names)
        schema = self._minimal_schema(tuple(run_targets))
        values: Dict[str, Any] = {}
        for name, value in (inputs or {}).items():
            if isinstance(value, str) and value in schema.nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none of the "
                    f"input names passed to the `run` method are the same as node names in the "
                    f"graph schema."
                )
            values[name] = (name, value)

        def compute(name: str) -> Any:
            if name in values:
                return values[name]
            node = schema.nodes.get(name)
            if node is None:
                return name
            args = [compute(need) for need in node.needs.values()]
            values[name] = self._instantiated_nodes[name](*args)
            return values[name]

        try:
            return dict(compute(target) for target in run_targets)
        except RuntimeError as exc:
            raise GraphRunError("Error running runner.") from exc

    def _minimal_schema(self, targets: Tuple[str, ...]) -> GraphSchema:
        if targets not in self._minimal:
            self._minimal[targets] = self._graph_schema.minimal_graph_schema(list(targets))
        return self._minimal[targets]


def sequential(original: Type[DaskGraphRunner]) -> Type[DaskGraphRunner]:
    """The runner class the Rasa server loads models with: :class:`SequentialGraphRunner`."""
    return SequentialGraphRunner
