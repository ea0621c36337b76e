// Unit tests of the awsvip parameter helpers: the VIP-inside-a-CIDR arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains } from './params.ts';

void test('cidrContains', () => {
  assert.equal(cidrContains('10.0.0.0/16', '10.0.5.20'), true);
  assert.equal(cidrContains('10.0.0.0/16', '10.1.0.20'), false);
  assert.equal(cidrContains('10.0.0.0/8', '10.255.255.255'), true);
  assert.equal(cidrContains('0.0.0.0/0', '1.2.3.4'), true);
  assert.equal(cidrContains('10.1.0.20/32', '10.1.0.20'), true);
  assert.equal(cidrContains('10.0.0.1/24', '10.0.0.200'), true); // host bits in the base are ignored
  assert.equal(cidrContains('bad', '10.0.0.1'), false);
  assert.equal(cidrContains('10.0.0.0/33', '10.0.0.1'), false);
});
