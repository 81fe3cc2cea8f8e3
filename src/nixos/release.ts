// NixOS releases are YY.05 and YY.11. Harmonia's module changed shape after 25.11 (nixpkgs
// PR #515949, "nixos/harmonia: fix for harmonia 3.1.0"): the flat `services.harmonia.{enable,
// signKeyPaths, settings}` became `services.harmonia.cache.*`, the old names kept only as renamed
// aliases. Emitting the flat names for ≤ 25.11 is required (`.cache` does not exist there).
import { NixosError } from './errors.js';

export type HarmoniaLayout = 'flat' | 'cache';

export interface NixosRelease {
  /** As given: `25.11`. */
  name: string;
  harmonia: HarmoniaLayout;
  /**
   * False before 24.11: harmonia's multi-key signing (nix-community/harmonia PR #324) dates from
   * 2024-05, and older nixpkgs modules have only the single `signKeyPath` (not verified per
   * release, hence a warning rather than a refusal).
   */
  hasSignKeyPaths: boolean;
}

/** The default: flat names evaluate on every release (aliases after 25.11, with a rename warning). */
export const DEFAULT_NIXOS_RELEASE = '25.11';
const LAST_FLAT = 25 * 100 + 11;

export function parseNixosRelease(s: string): NixosRelease {
  const m = /^(\d{2})\.(05|11)$/.exec(s);
  if (!m) throw new NixosError('NIXOS_RELEASE_INVALID', `--nixos-release ${JSON.stringify(s)} must look like 25.05 or 25.11 (NixOS releases are YY.05 and YY.11)`);
  const n = Number(m[1]) * 100 + Number(m[2]);
  return { name: s, harmonia: n <= LAST_FLAT ? 'flat' : 'cache', hasSignKeyPaths: n >= 24 * 100 + 11 };
}
