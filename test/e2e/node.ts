/** Shared by the end-to-end tests: a Hardhat node in a child process, ready when it says so. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

export const root = path.join(__dirname, "..", "..");
export const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

/** Starts `hardhat node --port port` and resolves once it serves JSON-RPC (rejects after 90 s or on exit). */
export async function startNode(port: string): Promise<ChildProcess> {
  const node = spawn(bin("hardhat"), ["node", "--port", port], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the node did not start:\n${out}`)), 90_000);
    node.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Started HTTP and WebSocket JSON-RPC server")) {
        clearTimeout(timer);
        resolve();
      }
    });
    node.on("exit", (code) => reject(new Error(`the node exited (${code}):\n${out}`)));
  });
  return node;
}
