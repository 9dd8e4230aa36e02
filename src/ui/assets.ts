/**
 * The web UI's embedded assets: what `scripts/build_ui.ts` generates into `assets_gen.ts`.
 *
 * @module
 */

/** One embedded asset, named by a hash of its content. */
export interface UiAsset {
  name: string;
  type: string;
  body: string;
}
