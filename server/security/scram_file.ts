// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The name of the data directory's SCRAM credentials file, apart from the store
 * (`scram_credentials.ts`, which re-exports it) so the broker can tell at start whether there is
 * one to check without importing SCRAM (issue #17).
 *
 * @module
 */

/** File in the data directory holding the SCRAM credentials. */
export const SCRAM_CREDENTIALS_FILE = "sluice-scram-credentials.json";
