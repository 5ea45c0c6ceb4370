# -*- coding: utf-8 -*-
# Copyright (c) vsp.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vsp.encryption.encryption_keys: an event source that watches the encryption keys of Hitachi VSP arrays.

It polls each array through the REST client of the collection's modules (same options, ``VSP_*`` environment
fallbacks, TLS verified by default, Hitachi's retry rules) in a worker thread, and puts on the queue, under the key
``vsp_encryption_keys``: ``started`` (the state found), ``keys_changed`` / ``keys_lost`` (one event per burst of
changes: which key ids of which types were created or deleted; which parity groups and drives lost keys),
``watch_failing`` (polls failed for ``failing_after`` seconds) and ``watch_resumed``. Never a secret.

A refused log in, a TLS failure or a bad argument stops the source with one error; outages are retried with back-off.
Each array's session is logged out when the source ends, also when the activation is cancelled.
The logic lives in ``plugins/plugin_utils/_key_watch.py``; see docs/events.md.

Arguments: ``arrays`` (a list of ``{name: <inventory host>, <connection options>}``; without it, one array from
the connection options and ``name``), the connection options of the modules (defaults for every array),
``poll_interval`` (60), ``settle_interval`` (5), ``burst_max`` (120), ``failing_after`` (600), in seconds.
"""

import asyncio
import concurrent.futures
import logging
import os
import sys
import time


def _make_collection_importable():
    """ansible-rulebook runs this file with runpy, without Ansible's collection loader: put the directory that holds
    ``ansible_collections`` (this file is ``<it>/ansible_collections/vsp/encryption/extensions/eda/plugins/event_source/``)
    on ``sys.path`` so that ``ansible_collections.vsp.encryption`` imports from the installed collection."""
    here = os.path.dirname(os.path.abspath(__file__))
    collection = os.path.abspath(os.path.join(here, *(['..'] * 4)))
    parts = collection.split(os.sep)
    if parts[-3:-2] != ['ansible_collections']:
        raise ImportError('vsp.encryption.encryption_keys must run from an installed collection (.../ansible_collections/vsp/'
                          'encryption); this file is in %s. Install it: ansible-galaxy collection install vsp.encryption' % collection)
    root = os.sep.join(parts[:-3])
    if root not in sys.path:
        sys.path.append(root)
    namespace = sys.modules.get('ansible_collections')
    if namespace is not None and hasattr(namespace, '__path__'):
        path = os.path.join(root, 'ansible_collections')
        if path not in list(namespace.__path__):
            namespace.__path__.append(path)


if '__file__' in globals():
    _make_collection_importable()

from ansible_collections.vsp.encryption.plugins.module_utils._api import VspApi  # noqa: E402
from ansible_collections.vsp.encryption.plugins.module_utils._client import VspClient  # noqa: E402
from ansible_collections.vsp.encryption.plugins.module_utils._errors import VspApiError  # noqa: E402
from ansible_collections.vsp.encryption.plugins.plugin_utils import _key_watch as kw  # noqa: E402

logger = logging.getLogger('vsp.encryption.encryption_keys')


class WatchStopped(Exception):
    """A refusal (log in, TLS, a bad argument): the source stops; the message says what to do."""


def _new_api(target):
    return VspApi(VspClient(target.params))


async def _run(loop, executor, func, *args):
    return await loop.run_in_executor(executor, func, *args)


async def watch_array(queue, target, settings, *, new_api=_new_api, clock=time.monotonic, sleep=asyncio.sleep):
    """Watch one array until cancelled; raises :class:`WatchStopped` on a refusal. Its session is logged out at the
    end in the same worker thread as the polls (after a poll still running), also when cancelled."""
    loop = asyncio.get_running_loop()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix='vsp-watch')
    api = None
    watch = kw.ArrayWatch(target, settings)
    try:
        api = new_api(target)
        snapshot = None
        while True:
            try:
                if snapshot is None:
                    await _run(loop, executor, api.client.first_contact)
                    watch.identified(await _run(loop, executor, kw.read_storage, api))
                snapshot = await _run(loop, executor, kw.read_snapshot, api, snapshot)
                events, delay, note = watch.observed(snapshot, clock())
            except VspApiError as exc:
                if not kw.is_transient(exc):
                    raise WatchStopped(kw.stop_message(target.name, exc)) from None
                events, delay, note = watch.failed(exc, clock())
                if note:
                    logger.warning(note)
                note = None
            if note:
                logger.info(note)
            for event in events:
                await queue.put(event)
            await sleep(delay)
    finally:
        if api is not None:
            # a future, not a task: when the loop is torn down before it is done, the worker thread still logs out
            await asyncio.shield(loop.run_in_executor(executor, api.client.close))
        executor.shutdown(wait=False)


async def main(queue, args):
    """ansible-rulebook's entry point: watch every array of ``args``; the first refusal stops them all."""
    try:
        settings = kw.watch_settings(args, os.environ)
    except VspApiError as exc:
        raise WatchStopped('vsp.encryption.encryption_keys: %s' % exc.describe()) from None
    tasks = [asyncio.ensure_future(watch_array(queue, target, settings)) for target in settings.targets]
    try:
        done, dummy = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


if __name__ == '__main__':
    class _PrintQueue(object):
        async def put(self, event):
            print(event)

    asyncio.run(main(_PrintQueue(), {'poll_interval': 10}))
