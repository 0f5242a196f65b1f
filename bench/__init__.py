"""``make bench``: speed, load, cold-start and soak benchmarks of the real bot.

Our bot runs side by side with the stock ``rasa init`` bot. Run with ``python -m bench`` (see
``python -m bench --help``). Modules: :mod:`bench.stats` (percentiles, CDFs, medians over
repetitions), :mod:`bench.conversations` (the message mix), :mod:`bench.load` (asyncio + aiohttp
load generator), :mod:`bench.procs` (process memory), :mod:`bench.builds` (index build, training
and cold start), :mod:`bench.stock` (the stock bot), :mod:`bench.retrieval` (retrieval alone, in
process), :mod:`bench.runner` (the scenarios), :mod:`bench.report` (JSON, markdown and PNG).
"""

# The scenarios ``python -m bench --only`` can pick; the cold starts always run (they start the
# servers the others measure).
SCENARIOS = ("builds", "retrieval", "load", "long", "soak")
