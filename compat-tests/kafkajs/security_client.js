// A kafkajs client for compat-tests/test_tls and test_sasl: connects with the
// security settings given as JSON in argv[2] ({brokers, ca, cert, key, sasl:
// {mechanism, username, password}, topic}), produces one message and reads
// it back. Prints "OK" or "ERROR <kafkajs error name>: <message>".
const fs = require('node:fs');
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const o = JSON.parse(process.argv[2]);
  const conf = { brokers: o.brokers, clientId: 'sluice-security', logLevel: logLevel.NOTHING,
                 retry: { retries: 1 }, connectionTimeout: 5000, authenticationTimeout: 5000 };
  if (o.ca) {
    conf.ssl = { ca: [fs.readFileSync(o.ca, 'utf-8')] };
    if (o.cert) {
      conf.ssl.cert = fs.readFileSync(o.cert, 'utf-8');
      conf.ssl.key = fs.readFileSync(o.key, 'utf-8');
    }
  }
  if (o.sasl) conf.sasl = o.sasl;
  const kafka = new Kafka(conf);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: o.topic, messages: [{ value: 'kafkajs-' + o.topic }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'g-' + o.topic });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  const got = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within 30 s')), 30000);
    consumer.run({ eachMessage: async ({ message }) => { clearTimeout(t); resolve(message.value.toString()); } });
  });
  await consumer.disconnect();
  if (got !== 'kafkajs-' + o.topic) throw new Error('read back ' + got);
  console.log('OK');
}

main().then(() => process.exit(0)).catch((e) => {
  console.log('ERROR ' + (e.name || 'Error') + ': ' + e.message);
  process.exit(1);
});
