'use strict';
// One consumer-group member on kafkajs (its own implementation of the
// classic group protocol) for compat-tests/test_group_scenarios, with the
// command line and output lines of compat-tests/lib/group_member.py:
//
//   node group_member.js BOOTSTRAP GROUP TOPIC [key=value ...]
//
// key=value pairs are numeric consumer options (sessionTimeout=6000,
// heartbeatInterval=500). Lines: "ASSIGN <p,p,...>" on each group join (the
// whole assignment: kafkajs rebalances eagerly), "MSG <p> <o>" for each
// message (printed before eachMessage returns, so before kafkajs can commit
// its offset), "ERR <text>" on a crash event, "CLOSED" after SIGTERM once
// the consumer disconnected (committing and leaving the group).
const { Kafka, logLevel } = require('kafkajs');

function out(line) {
  process.stdout.write(`${line}\n`);
}

async function main() {
  const [bootstrap, groupId, topic, ...kvs] = process.argv.slice(2);
  const opts = { groupId, maxWaitTimeInMs: 500 };
  for (const kv of kvs) {
    const i = kv.indexOf('=');
    opts[kv.slice(0, i)] = Number(kv.slice(i + 1));
  }
  const kafka = new Kafka({
    clientId: 'group-member-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const c = kafka.consumer(opts);
  c.on(c.events.GROUP_JOIN, (e) => {
    const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
    out(`ASSIGN ${parts.length ? parts.join(',') : '-'}`);
  });
  c.on(c.events.CRASH, (e) => out(`ERR ${String(e.payload.error).replace(/\s+/g, ' ')}`));
  let stopping = false;
  process.on('SIGTERM', async () => {
    if (stopping) return;
    stopping = true;
    await c.disconnect();
    out('CLOSED');
    process.exit(0);
  });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    autoCommitInterval: 300,
    eachMessage: async ({ partition, message }) => { out(`MSG ${partition} ${message.offset}`); },
  });
}

main().catch((e) => {
  out(`ERR ${String(e).replace(/\s+/g, ' ')}`);
  process.exit(1);
});
