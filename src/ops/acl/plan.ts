import { normaliseMac } from '../../decode/topic.js';
import type { ControllerAssignments } from './assignments.js';

/** Pure: from the database's assignments and the CN mapping, who may write which topics. */

export interface ControllerRights {
  /** The certificate CN: the MAC unless mapped. */
  cn: string;
  /** Its controller MACs (one, unless several MACs were mapped to the same CN). */
  macs: string[];
  /** Numeros of the serres whose readings it may publish. */
  serres: number[];
}

export interface AclPlan {
  controllers: ControllerRights[];
  /** Serres nobody may publish readings for (no controller, or not a MAC). */
  unassignedSerres: number[];
  /** Things the operator should know: odd values skipped, mappings that match nothing. */
  warnings: string[];
}

export function planAcl(data: ControllerAssignments, cnByMac: ReadonlyMap<string, string>): AclPlan {
  const warnings: string[] = [];
  const serresByMac = new Map<string, Set<number>>();
  const unassigned = new Set<number>();
  for (const serre of data.serres) {
    const stored = serre.controleur?.trim() ?? '';
    const mac = stored === '' ? undefined : normaliseMac(stored);
    if (mac === undefined) {
      unassigned.add(serre.numero);
      if (stored !== '') warnings.push(`serre ${serre.numero}: serre.controleur "${stored}" is not a MAC; skipped`);
      continue;
    }
    serresByMac.set(mac, (serresByMac.get(mac) ?? new Set()).add(serre.numero));
  }
  // A serre numero may in principle appear twice; it is assigned when any of its rows is.
  for (const numbers of serresByMac.values()) for (const n of numbers) unassigned.delete(n);

  for (const id of data.controllers) {
    const mac = normaliseMac(id.trim());
    if (mac === undefined) warnings.push(`controleur "${id}" is not a MAC; skipped`);
    else if (!serresByMac.has(mac)) serresByMac.set(mac, new Set());
  }
  for (const mac of cnByMac.keys()) {
    if (serresByMac.has(mac)) continue;
    warnings.push(`--cn ${mac}: no serre or controleur has this MAC; it gets only its controleur/${mac} topics`);
    serresByMac.set(mac, new Set());
  }

  const byCn = new Map<string, ControllerRights>();
  for (const [mac, serres] of serresByMac) {
    const cn = cnByMac.get(mac) ?? mac;
    const rights = byCn.get(cn) ?? { cn, macs: [], serres: [] };
    rights.macs.push(mac);
    rights.serres.push(...serres);
    byCn.set(cn, rights);
  }
  const controllers = [...byCn.values()]
    .map((c) => ({ cn: c.cn, macs: [...c.macs].sort(), serres: [...new Set(c.serres)].sort((a, b) => a - b) }))
    .sort((a, b) => (a.cn < b.cn ? -1 : a.cn > b.cn ? 1 : 0));
  return { controllers, unassignedSerres: [...unassigned].sort((a, b) => a - b), warnings };
}
