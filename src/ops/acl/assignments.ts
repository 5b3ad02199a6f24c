import type { RowDataPacket } from 'mysql2';
import type { Pool } from '../../db/pool.js';

/** What the web application's database says about controllers: which serre each one runs. */

export interface SerreController {
  numero: number;
  /** serre.controleur as stored (the controller's MAC), or null. */
  controleur: string | null;
}

export interface ControllerAssignments {
  serres: SerreController[];
  /** controleur.id_controleur of every controller the database knows. */
  controllers: string[];
}

/** The database has no serre.controleur: nothing says which controller runs which serre. */
export class MissingControllerColumnError extends Error {
  constructor(database: string) {
    super(
      `the table serre of database "${database}" has no column controleur. The generated ACL gives each ` +
        "controller the serres whose serre.controleur holds its MAC, as the web application's schema does; " +
        'without that column there is nothing to generate from. Keep the default ACL (mosquitto/config/acl) ' +
        'or the hardened acl.mac-cn, or have the web application record each serre\'s controller ' +
        '(a column serre.controleur VARCHAR(17) holding its MAC) and run this again.',
    );
    this.name = 'MissingControllerColumnError';
  }
}

export async function readControllerAssignments(pool: Pool, database: string): Promise<ControllerAssignments> {
  const [columns] = await pool.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'serre' AND COLUMN_NAME = 'controleur'`,
  );
  if (Number(columns[0]?.n ?? 0) === 0) throw new MissingControllerColumnError(database);
  const [serres] = await pool.query<RowDataPacket[]>('SELECT numero, controleur FROM serre ORDER BY numero');
  const [controllers] = await pool.query<RowDataPacket[]>('SELECT id_controleur FROM controleur ORDER BY id_controleur');
  return {
    serres: serres.map((r) => ({ numero: Number(r.numero), controleur: r.controleur === null ? null : String(r.controleur) })),
    controllers: controllers.map((r) => String(r.id_controleur)),
  };
}
