"""The performance benchmark of vsp.encryption (issues #7, #16, #25, #29), one concern per module.

- :mod:`.cli`: the command line and the order of the parts (``python -m vsp_bench``);
- measuring: :mod:`.restore` (the key restore at one N), :mod:`.fleet` (the backup playbook over K arrays),
  :mod:`.eda` (the event source: requests per poll, sessions, exposure window; ``--eda``, on
  ``vsp_simulator.rulebook``),
  on :mod:`.simulator`, :mod:`.processes` (ansible-playbook and module processes), :mod:`.scenario`,
  :mod:`.machine` (the machine's facts and load);
- reading what a run left: :mod:`.requests_log` (the simulator's request log), :mod:`.task_timer`
  (the ``bench_timer`` callback's files);
- judging: :mod:`.figures` (derived figures), :mod:`.verdicts` (targets, PASS/FAIL);
- writing: :mod:`.render` (the page and the printed summary), :mod:`.tables`, :mod:`.findings`,
  :mod:`.charts` on :mod:`.svg`; :mod:`.eda_page` (the EDA run's page and summary).

Another benchmark is one more measuring module whose rows the CLI adds to results.json. The event source's
(``--eda``, ``make bench-eda``) runs on its own, into eda.json and eda.md: it needs Java 17 for ansible-rulebook.
"""
