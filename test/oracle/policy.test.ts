import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";

import { Action, ACTION_NAMES, loadSystem, PriceStatus, STATUS_NAMES } from "../helpers/fixture";

/** The policy table as docs/oracle.md prints it: action -> column -> allowed. */
function docTable(): Map<string, Map<string, boolean>> {
  const text = readFileSync(path.join(__dirname, "../../docs/oracle.md"), "utf8");
  const cellsOf = (line: string) =>
    line
      .split("|")
      .map((c) => c.trim())
      .filter(Boolean);
  const lines = text.split("\n").filter((l) => l.startsWith("| "));
  const headerIndex = lines.findIndex((l) => cellsOf(l)[0] === "action");
  expect(headerIndex, "docs/oracle.md has the policy table").to.be.greaterThan(-1);
  const header = cellsOf(lines[headerIndex]);
  const table = new Map<string, Map<string, boolean>>();
  for (const line of lines.slice(headerIndex + 2)) {
    const cells = cellsOf(line);
    if (!ACTION_NAMES.includes(cells[0])) break;
    const row = new Map<string, boolean>();
    header.slice(1).forEach((column, i) => {
      expect(["yes", "no"], `cell ${cells[0]} / ${column}`).to.include(cells[i + 1]);
      row.set(column, cells[i + 1] === "yes");
    });
    table.set(cells[0], row);
  }
  return table;
}

/** The column of the doc table for a status under a suspect policy. */
function column(status: string, trustGap: boolean): string {
  if (status !== "SUSPECT") return status;
  return trustGap ? "SUSPECT (trust gap)" : "SUSPECT (wait)";
}

describe("oracle policy table", () => {
  const table = docTable();

  it("docs/oracle.md lists every action and every status", () => {
    expect([...table.keys()].sort()).to.deep.equal([...ACTION_NAMES].sort());
    for (const row of table.values()) {
      expect(row.size).to.equal(STATUS_NAMES.length + 1);
    }
  });

  for (const trustGap of [false, true]) {
    const policyName = trustGap ? "TRUST_GAP" : "WAIT_FOR_CONFIRMATION";
    describe(`under ${policyName}`, () => {
      for (const statusName of STATUS_NAMES) {
        for (const actionName of ACTION_NAMES) {
          const allowed = table.get(actionName)!.get(column(statusName, trustGap))!;
          it(`${actionName} under ${statusName}: ${allowed ? "allowed" : "refused"}`, async () => {
            const { router, actors } = await loadSystem();
            if (trustGap) await router.connect(actors.admin).setSuspectPolicy(1);
            const status = PriceStatus[statusName as keyof typeof PriceStatus];
            const action = Action[actionName as keyof typeof Action];
            expect(await router.isAllowed(status, action)).to.equal(allowed);
            const mask = await router.allowedActions(status);
            expect(((mask >> BigInt(action)) & 1n) === 1n).to.equal(allowed);
          });
        }
      }
    });
  }

  it("risk-adding actions need OK; nothing else is allowed beyond the documented groups", async () => {
    const { router } = await loadSystem();
    // Under every status, the allowed set is a superset of the next stricter one (OK > FALLBACK > STALE).
    const ok = await router.allowedActions(PriceStatus.OK);
    const fallback = await router.allowedActions(PriceStatus.FALLBACK);
    const stale = await router.allowedActions(PriceStatus.STALE);
    expect(ok & fallback).to.equal(fallback);
    expect(fallback & stale).to.equal(stale);
    expect(ok).to.equal((1n << BigInt(ACTION_NAMES.length)) - 1n);
  });
});
