// The service's state as rows, the way the SQLite store keeps them: what `autosalon db copy` reads from an embedded
// install and writes into PostgreSQL, and the counts it compares afterwards.

export interface PortalRows {
  member_id: string; domain: string; client_endpoint: string; access_token: string; refresh_token: string; expires: number; scope: string;
  user_id: number; application_token: string; lang: string; tier: string; plan: string; installed_at: number; install_state: string;
  install_error: string | null; last_sweep_at: number | null; settings: string; last_error: string | null; last_error_at: number | null;
}

export interface JobRows {
  id: number; member_id: string; kind: string; payload: string; run_at: number; dedupe_key: string | null; coalesce_key: string | null;
  status: string; attempts: number; last_error: string | null; created_at: number; finished_at: number | null;
}

export interface StoreRows {
  /** The encrypted check value of the secret key the tokens are encrypted with. */
  keyCheck?: string;
  portals: PortalRows[];
  jobs: JobRows[];
  observations: { member_id: string; entity: string; item_id: string; stage_id: string; stage_entered_at: number; watched: string; updated_at: number; modified_at: string | null }[];
  actions: { key: string; member_id: string; status: string; result: string | null; started_at: number; finished_at: number | null }[];
  episodes: Record<string, unknown>[];
  requirements: Record<string, unknown>[];
}

/** Rows per kind of state; jobs by what becomes of them (a running job is queued again in a copy). */
export interface TableCounts {
  portals: number;
  observations: number;
  actions: number;
  episodes: number;
  requirements: number;
  jobsQueued: number;
  jobsDone: number;
  jobsFailed: number;
  dedupeKeys: number;
}
