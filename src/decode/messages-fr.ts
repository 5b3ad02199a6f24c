/**
 * The sentences written to `error.message`, in French for the greenhouse team: where the
 * message came from, what was wrong, and what was expected.
 */
import type { Capteur } from './types.js';
import { escapeControls, quoteTopic, truncate } from './valeur.js';

const KEY_MAX_CHARS = 100;
const SHOWN_MAX_CHARS = 100;

/** A key, topic level or received value inside a sentence: control characters made visible, bounded. */
function shown(text: string, max = SHOWN_MAX_CHARS): string {
  return truncate(escapeControls(text), max);
}

function key(name: string): string {
  return `« ${shown(name, KEY_MAX_CHARS)} »`;
}

function range(c: Capteur): string {
  const unit = c.unite ? ` ${c.unite}` : '';
  const min = c.min ?? '-∞';
  const max = c.max ?? '+∞';
  return `[${min} ; ${max}]${unit}`;
}

function received(topic: string): string {
  return `Message reçu sur ${quoteTopic(topic)}`;
}

export const fr = {
  invalidEncoding: (topic: string) =>
    `${received(topic)} : le contenu n'est pas du texte UTF-8 valide (données binaires ?). Attendu : un objet JSON en UTF-8.`,

  bacNotFound: (topic: string, serre: string, bac: string) =>
    `${received(topic)} : aucun bac numéro ${shown(bac, 20)} dans une serre numéro ${shown(serre, 20)}. ` +
    `Vérifiez la serre et le bac dans l'application web, ou le sujet publié par le contrôleur.`,

  tooLarge: (topic: string, size: number, limit: number) =>
    `${received(topic)} : message trop grand (${size} octets, maximum ${limit}).`,

  notJson: (topic: string) =>
    `${received(topic)} : le contenu n'est pas du JSON valide. Attendu par exemple : {"temperatureAmbiante": 22.5}.`,

  notObject: (topic: string) =>
    `${received(topic)} : le contenu doit être un objet JSON, par exemple {"temperatureAmbiante": 22.5}.`,

  emptyObject: (topic: string) =>
    `${received(topic)} : l'objet JSON est vide, aucune mesure à enregistrer.`,

  missingControllerFields: (topic: string, missing: string[]) =>
    `${received(topic)} : champ(s) obligatoire(s) absent(s) : ${missing.join(', ')}. ` +
    `Attendu : {"ip": "192.168.1.10", "status": true}.`,

  unknownSensor: (topic: string, name: string, known: string[]) =>
    `${received(topic)} : le capteur ${key(name)} est inconnu (capteurs connus : ${known.join(', ') || 'aucun'}). ` +
    `Les autres mesures du message sont enregistrées.`,

  notANumber: (topic: string, name: string, raw: string) =>
    `${received(topic)} : la valeur de ${key(name)} doit être un nombre fini (reçu : ${shown(raw)}).`,

  duplicateKey: (topic: string, name: string) =>
    `${received(topic)} : la clé ${key(name)} apparaît plusieurs fois ; valeur ambiguë, aucune n'est enregistrée.`,

  outOfRange: (topic: string, c: Capteur, value: number, clamped: number) =>
    `${received(topic)} : ${key(c.type)} = ${value} est hors de la plage ${range(c)} ; ` +
    `valeur enregistrée ramenée à ${clamped}.`,

  invalidMac: (topic: string) =>
    `${received(topic)} : l'identifiant du contrôleur n'est pas une adresse MAC (attendu XX:XX:XX:XX:XX:XX).`,

  invalidIp: (topic: string, raw: string) =>
    `${received(topic)} : le champ « ip » doit être une adresse IP en texte, par exemple "192.168.1.10" (reçu : ${shown(raw)}).`,

  invalidStatus: (topic: string, raw: string) =>
    `${received(topic)} : le champ « status » doit être true ou false (reçu : ${shown(raw)}).`,

  unexpectedTopic: (topic: string) =>
    `${received(topic)} : sujet inattendu, le message est ignoré.`,

  unexpected: (topic: string, detail: string) =>
    `${received(topic)} : erreur inattendue pendant le traitement (${truncate(detail, 300)}). Le message est ignoré.`,

  mqttDisconnect: (reason: string) =>
    `Connexion au broker MQTT perdue (${truncate(reason, 300)}). Le pont se reconnecte ; ` +
    `les messages QoS 1 en attente sont conservés par le broker.`,

  dbError: (detail: string) =>
    `Base de données indisponible (${truncate(detail, 300)}). Les données reçues sont conservées ` +
    `sur le disque du pont et écrites dès le retour de la base.`,

  dbInsertError: (table: string, detail: string) =>
    `La base de données a refusé une ligne de la table ${table} (${truncate(detail, 300)}). ` +
    `Cette ligne seule n'est pas enregistrée ; le reste du lot l'est.`,

  suppressed: (count: number, type: string, topic: string, fromTime: string, toTime: string) =>
    `${count} autre(s) erreur(s) ${type} sur ${quoteTopic(topic)} entre ${fromTime} et ${toTime} ` +
    `non enregistrée(s) individuellement (limitation du débit des erreurs).`,

  budgetSuppressed: (count: number, type: string, perMinute: number, fromTime: string, toTime: string) =>
    `${count} erreur(s) ${type}, tous topics confondus, entre ${fromTime} et ${toTime} non enregistrée(s) ` +
    `individuellement : le budget global de ${perMinute} lignes d'erreur par minute était atteint.`,
};
