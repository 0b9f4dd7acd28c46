import { expect } from "chai";

import { loadPerps, px, size, u, setEth, expectPerpBooks } from "../helpers/perps";

describe("perps: smoke", function () {
  it("an LP deposits, a trader opens a 10x long, the price rises 10%, the trader closes at a profit", async function () {
    const f = await loadPerps();
    const { lp, alice } = f.actors;
    await f.vault.connect(lp).deposit(u(1_000_000), lp.address);
    await f.perp.connect(alice).depositMargin(u(3_000), alice.address);
    await f.perp.connect(alice).modifyPosition(f.ETH, size(10), px(3100));
    await setEth(f, 3300);
    const before = (await f.perp.marginOf(alice.address)).margin;
    await f.perp.connect(alice).closePosition(f.ETH, 0);
    const after = (await f.perp.marginOf(alice.address)).margin;
    expect(after - before).to.be.gt(u(2_900));
    await expectPerpBooks(f, [alice.address]);
    await f.perp.connect(alice).withdrawMargin(ethersMax(), alice.address);
    expect((await f.perp.marginOf(alice.address)).margin).to.equal(0n);
  });
});

function ethersMax() {
  return 2n ** 256n - 1n;
}
