// Starts `nndsl lsp` (diagnostics as you type, hover docs, completion, go to definition,
// formatting) for .nn files. The command is the setting nndsl.server.command, by default
// `nndsl` on the PATH (pip install 'nndsl[lsp]').
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("nndsl");
  const command = config.get("server.command", "nndsl");
  const args = config.get("server.args", ["lsp"]);
  client = new LanguageClient(
    "nndsl",
    "nndsl",
    { command, args },
    { documentSelector: [{ scheme: "file", language: "nndsl" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
