import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cpusAllowedIn,
  formatCpuList,
  lowestPriority,
  ManagementCpusError,
  managementCpusFor,
  parseCpuList,
} from './priority.ts';

test('CPU lists read and write as the kernel and taskset write them', () => {
  assert.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  assert.deepEqual(parseCpuList('1\n'), [1]);
  assert.deepEqual(parseCpuList('5,1-2,2'), [1, 2, 5]);
  for (const bad of ['', 'a', '3-1', '1,', '-1', '1-2-3']) assert.equal(parseCpuList(bad), undefined, bad);
  assert.equal(formatCpuList([0, 1, 2, 5]), '0-2,5');
  assert.equal(formatCpuList([1]), '1');
  assert.equal(formatCpuList([0, 2, 3, 4, 7, 8]), '0,2-4,7-8');
  const status = 'Name:\tnode\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n';
  assert.equal(cpusAllowedIn(status), '0-1');
  assert.equal(cpusAllowedIn('Name:\tnode\n'), undefined);
});

test('the host setting: all (the default), or a CPU list the platform may use', () => {
  assert.equal(managementCpusFor(undefined, [0, 1, 2, 3]), undefined);
  assert.equal(managementCpusFor('', [0, 1, 2, 3]), undefined);
  assert.equal(managementCpusFor('all', [0, 1, 2, 3]), undefined);
  assert.deepEqual(managementCpusFor('1', [0, 1]), [1]);
  // Out of the CPUs this process may use, not of the machine's.
  assert.deepEqual(managementCpusFor('5,8-9', [2, 3, 5, 8, 9]), [5, 8, 9]);
  assert.deepEqual(managementCpusFor('0,2-3', [0, 1, 2, 3]), [0, 2, 3]);
  assert.throws(
    () => managementCpusFor('one', [0, 1]),
    (e: unknown) =>
      e instanceof ManagementCpusError &&
      e.code === 'TP_MANAGEMENT_CPUS' &&
      e.message === 'TRIPLANE_MANAGEMENT_CPUS="one": expected all, or a CPU list such as 1 or 2-3,6',
  );
  assert.throws(
    () => managementCpusFor('1-3', [0, 1]),
    (e: unknown) =>
      e instanceof ManagementCpusError &&
      e.message ===
        'TRIPLANE_MANAGEMENT_CPUS="1-3": CPU 2-3 is not one this host lets the platform use (0-1)',
  );
});

test('the prefix of management work: its CPUs, then the lowest priority and policy', () => {
  const lowest = ['nice', '-n', '19', 'ionice', '-c', '3', 'chrt', '--idle', '0'];
  assert.deepEqual(lowestPriority(undefined), lowest);
  assert.deepEqual(lowestPriority([1]), ['taskset', '--cpu-list', '1', ...lowest]);
  assert.deepEqual(lowestPriority([0, 6, 7]), ['taskset', '--cpu-list', '0,6-7', ...lowest]);
});
