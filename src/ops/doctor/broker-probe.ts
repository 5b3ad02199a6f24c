import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { MqttClient } from 'mqtt';
import { CheckTimeout } from './check.js';

/**
 * One connection to the broker, as the bridge makes it (mutual TLS from the configured files,
 * rejectUnauthorized, SNI only for host names as MQTT.js does), followed by an MQTT CONNECT on
 * the same socket and, once connected, a QoS probe: a message published at QoS 0 to a topic the
 * probe subscribed to at QoS 1, whose delivered QoS tells whether the broker upgrades QoS 0
 * readings for the bridge, then a read of the broker's version ($SYS/broker/version, retained).
 * It records how far it got so that each step gets its own line: reaching the port, the TLS
 * handshake, the broker certificate, the CONNACK, the delivered QoS, the version.
 */

export type ProbePhase = 'connect' | 'tls' | 'mqtt';

export interface ProbeTarget {
  host: string;
  port: number;
  tls: { ca: Buffer; cert: Buffer; key: Buffer } | undefined;
  clientId: string;
  username: string | undefined;
  password: string | undefined;
  /** For each step: reaching the broker and the handshake, then the CONNACK, then the QoS probe. */
  timeoutMs: number;
  /** Where the QoS probe publishes and subscribes; none = no probe. */
  qosProbeTopic?: string;
}

/** What came back of the QoS probe: the QoS it was delivered at, or nothing within the timeout. */
export type QosProbe = { deliveredQos: number } | { deliveredQos: undefined; error?: Error };

export interface ProbeResult {
  /** Set once the handshake completed and the broker's chain was verified against the CA. */
  secured?: { protocol: string | null; peer: X509Certificate | undefined };
  /** Set once the broker accepted the CONNECT. */
  connack?: { sessionPresent: boolean };
  /** Set when a QoS probe ran. */
  qosProbe?: QosProbe;
  /** The broker's $SYS/broker/version (e.g. "mosquitto version 2.0.11"); undefined when not received. */
  brokerVersion?: string;
  failure?: { phase: ProbePhase; error: Error };
}

/** Errors of the operating system's connect() or resolver: the broker was never reached. */
function isNetworkError(err: Error): boolean {
  const syscall = (err as { syscall?: unknown }).syscall;
  return syscall === 'connect' || syscall === 'getaddrinfo' || syscall === 'lookup';
}

/** A TLS alert from the broker: with TLS 1.3 a refused client certificate arrives after the handshake. */
export function isTlsAlert(err: Error): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return code.startsWith('ERR_SSL_') || /\balert\b/i.test(err.message);
}

function openSocket(target: ProbeTarget): net.Socket | tls.TLSSocket {
  if (!target.tls) return net.connect({ host: target.host, port: target.port });
  return tls.connect({
    host: target.host,
    port: target.port,
    // SNI must not carry an IP address (RFC 6066); MQTT.js leaves it out for IPs too.
    servername: net.isIP(target.host) === 0 ? target.host : undefined,
    ca: target.tls.ca,
    cert: target.tls.cert,
    key: target.tls.key,
    rejectUnauthorized: true,
    // The chain is still verified; the host name is checked on its own afterwards so that a
    // SAN problem is reported as such instead of hiding every later step.
    checkServerIdentity: () => undefined,
  });
}

function handshake(socket: net.Socket | tls.TLSSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CheckTimeout(timeoutMs)), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => done());
    socket.once('error', done);
  });
}

function mqttConnect(socket: net.Socket, target: ProbeTarget): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = new MqttClient(() => socket, {
      clientId: target.clientId,
      // A throwaway clean session under its own id: the bridge's persistent session and its
      // queued messages are never touched, even while the bridge runs.
      clean: true,
      keepalive: 30,
      protocolVersion: 4,
      username: target.username,
      password: target.password,
      reconnectPeriod: 0,
      connectTimeout: target.timeoutMs,
    });
    let lastError: Error | undefined;
    let settled = false;
    // Only our own listeners go: MQTT.js clears its CONNACK timer in a 'close' listener of its own.
    const onConnect = (connack: { sessionPresent: boolean }) => {
      settled = true;
      resolve({ client, sessionPresent: connack.sessionPresent });
    };
    const onError = (err: Error) => {
      lastError ??= err;
      if (/connack timeout/i.test(err.message)) fail(new CheckTimeout(target.timeoutMs));
      else if ((err as { code?: unknown }).code !== undefined && !client.connected) fail(err);
    };
    const onClose = () => fail(lastError ?? new Error('the broker closed the connection without answering CONNECT'));
    function fail(err: Error) {
      if (settled) return;
      settled = true;
      client.off('connect', onConnect);
      client.off('close', onClose);
      client.end(true);
      reject(err);
    }
    client.once('connect', onConnect);
    client.on('error', onError);
    client.once('close', onClose);
    socket.on('error', (err) => (lastError ??= err));
  });
}

/**
 * Subscribes to `topic` at QoS 1 (as the bridge subscribes), publishes one message there at QoS 0
 * (as PubSubClient devices publish) and reads the QoS the broker delivers it at.
 */
function probeDeliveredQos(client: MqttClient, topic: string, timeoutMs: number): Promise<QosProbe> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done({ deliveredQos: undefined }), timeoutMs);
    const onMessage = (received: string, _payload: Buffer, packet: { qos: number }) => {
      if (received === topic) done({ deliveredQos: packet.qos });
    };
    const onClose = () => done({ deliveredQos: undefined, error: new Error('the broker closed the connection during the QoS probe') });
    function done(outcome: QosProbe) {
      clearTimeout(timer);
      client.off('message', onMessage);
      client.off('close', onClose);
      resolve(outcome);
    }
    client.on('message', onMessage);
    client.once('close', onClose);
    client.subscribe(topic, { qos: 1 }, (err) => {
      if (err) done({ deliveredQos: undefined, error: err });
      else client.publish(topic, 'parc-bridge doctor QoS probe', { qos: 0 });
    });
  });
}

/** Mosquitto sends $SYS/broker/version retained, at once after SUBACK, when the ACL lets the client read it. */
const VERSION_TOPIC = '$SYS/broker/version';
const VERSION_WAIT_MS = 2_000;

function readBrokerVersion(client: MqttClient, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), Math.min(timeoutMs, VERSION_WAIT_MS));
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic === VERSION_TOPIC) done(payload.toString('utf8'));
    };
    function done(version: string | undefined) {
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(version);
    }
    client.on('message', onMessage);
    client.subscribe(VERSION_TOPIC, { qos: 0 }, (err) => {
      if (err) done(undefined);
    });
  });
}

function endQuietly(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const forced = setTimeout(() => client.end(true, () => resolve()), 1_000);
    client.end(false, () => {
      clearTimeout(forced);
      resolve();
    });
  });
}

export async function probeBroker(target: ProbeTarget): Promise<ProbeResult> {
  const result: ProbeResult = {};
  let socket: net.Socket | tls.TLSSocket;
  try {
    // Throws at once when the key does not belong to the certificate, or a file is not PEM.
    socket = openSocket(target);
  } catch (err) {
    result.failure = { phase: 'tls', error: err instanceof Error ? err : new Error(String(err)) };
    return result;
  }
  // A late error must never become an uncaught exception of the doctor itself.
  socket.on('error', () => undefined);
  try {
    await handshake(socket, target.timeoutMs);
  } catch (err) {
    socket.destroy();
    const error = err as Error;
    result.failure = { phase: isNetworkError(error) ? 'connect' : target.tls ? 'tls' : 'connect', error };
    return result;
  }
  if (socket instanceof tls.TLSSocket) {
    result.secured = { protocol: socket.getProtocol(), peer: socket.getPeerX509Certificate() };
  }
  try {
    const { client, sessionPresent } = await mqttConnect(socket, target);
    result.connack = { sessionPresent };
    if (target.qosProbeTopic) result.qosProbe = await probeDeliveredQos(client, target.qosProbeTopic, target.timeoutMs);
    if (client.connected) result.brokerVersion = await readBrokerVersion(client, target.timeoutMs);
    await endQuietly(client);
  } catch (err) {
    socket.destroy();
    const error = err as Error;
    result.failure = { phase: target.tls && isTlsAlert(error) ? 'tls' : 'mqtt', error };
  }
  return result;
}
