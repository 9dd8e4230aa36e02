/// <reference no-default-lib="true" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="esnext" />
/**
 * Calls to the server's API with the bearer token. The token lives in sessionStorage (gone when the
 * tab closes; a shared or kiosk browser keeps nothing) unless the user ticks "Remember on this device",
 * which puts it in localStorage. A 401 opens the token dialog once; every waiting call retries with
 * the new token.
 *
 * @module
 */

const KEY = "stalker-storage.token";

/** An error answer of the API: its HTTP status, code and message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The stored token, or "". */
export function storedToken(): string {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY) ?? "";
}

/** Forgets the token everywhere. */
export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
  updateSignOut();
}

function updateSignOut(): void {
  const b = document.getElementById("sign-out");
  if (b) b.hidden = storedToken() === "";
}

let asking: Promise<void> | null = null;
let guarded = false;

/** Opens the token dialog (once for all callers) and resolves when a token was entered. */
function askToken(message: string): Promise<void> {
  if (asking) return asking;
  const dialog = document.getElementById("token-dialog") as HTMLDialogElement;
  const form = document.getElementById("token-form") as HTMLFormElement;
  const input = document.getElementById("token-input") as HTMLInputElement;
  const remember = document.getElementById("token-remember") as HTMLInputElement;
  const error = document.getElementById("token-error")!;
  error.textContent = message;
  error.hidden = message === "";
  input.value = "";
  asking = new Promise<void>((resolve) => {
    const submit = (e: Event) => {
      e.preventDefault();
      const token = input.value.trim();
      if (token === "") return;
      forgetToken();
      (remember.checked ? localStorage : sessionStorage).setItem(KEY, token);
      updateSignOut();
      form.removeEventListener("submit", submit);
      asking = null;
      dialog.close();
      resolve();
    };
    form.addEventListener("submit", submit);
  });
  if (!guarded) {
    // Escape must not leave the page without data and without a prompt: the dialog stays until a token
    // is given (a browser may close it anyway after repeated Escapes: then it opens again).
    guarded = true;
    dialog.addEventListener("cancel", (e) => e.preventDefault());
    dialog.addEventListener("close", () => {
      if (asking && !dialog.open) dialog.showModal();
    });
  }
  if (!dialog.open) dialog.showModal();
  input.focus();
  return asking;
}

/** Fetches `path` with the token; asks for a token on 401 and retries; throws {@link ApiError} on errors. */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const headers = new Headers(init.headers);
    const token = storedToken();
    if (token !== "") headers.set("authorization", `Bearer ${token}`);
    const res = await fetch(path, { ...init, headers });
    if (res.status === 401) {
      await res.body?.cancel();
      await askToken(token === "" ? "" : "That token was refused. Try again.");
      continue;
    }
    if (!res.ok) throw await apiError(res);
    updateSignOut();
    return res;
  }
}

/** GETs or POSTs JSON. */
export async function apiJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await api(path, init);
  return await res.json() as T;
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error) return new ApiError(res.status, body.error.code ?? "error", body.error.message ?? text);
  } catch {
    // not JSON: keep the text
  }
  return new ApiError(res.status, "http_" + res.status, text || res.statusText);
}
