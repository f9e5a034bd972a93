// The routing panel's HTML shell: strict Content-Security-Policy (no inline script or style;
// the one script runs by nonce), assets only from media/ through webview URIs. vscode-free so a
// unit test can check the policy.
import { randomBytes } from 'node:crypto';

export interface PanelHtmlInput {
  /** webview.cspSource: the origin webview resource URIs are served from. */
  cspSource: string;
  /** asWebviewUri(media/panel.js) and asWebviewUri(media/panel.css), as strings. */
  scriptUri: string;
  styleUri: string;
  nonce?: string;
}

/** 128 random bits, base64: a fresh nonce for every render. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function panelHtml(input: PanelHtmlInput): string {
  const nonce = input.nonce ?? makeNonce();
  const csp = contentSecurityPolicy(input.cspSource, nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(input.styleUri)}">
<title>MoE Lens: Expert Routing</title>
</head>
<body>
<div id="app" role="main" aria-label="Expert routing"></div>
<script nonce="${escapeAttr(nonce)}" src="${escapeAttr(input.scriptUri)}"></script>
</body>
</html>
`;
}
