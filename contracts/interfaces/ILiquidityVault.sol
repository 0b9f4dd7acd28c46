// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

import {IPerpMarket} from "./IPerpMarket.sol";

/// @title ILiquidityVault
/// @notice The LPs' side of the perps engine: an ERC-4626 vault over the base asset whose assets are the
/// engine's LP pool. Deposits go straight into the pool; the pool is the counterparty of every trade, so the
/// share price rises with trader losses, trading fees and funding on the skew, and falls with trader
/// profits and socialised deficits.
/// @dev totalAssets() = PerpMarket.lpAssets(): the pool's capital minus traders' net unrealised PnL at the
/// oracle's current prices (peek), floored at zero. 1e6 virtual shares per unit (_decimalsOffset 6) against
/// share-price inflation. Rounding follows ERC-4626 (always against the caller).
/// Withdrawals are limited to PerpMarket.lpWithdrawable(): the pool keeps what open positions could claim
/// now plus a reserve on open notional (maxWithdraw and maxRedeem say so; beyond them ERC-4626's
/// ERC4626ExceededMaxWithdraw / ExceededMaxRedeem). A withdrawal also needs trusted prices for every
/// market with open interest (PriceNotUsable otherwise), so LPs cannot leave on a price the oracle doubts.
/// Deposits and mints are closed (maxDeposit = maxMint = 0, ERC4626ExceededMaxDeposit / ExceededMaxMint) while
/// the pool's value is zero and shares exist, so that nobody buys the waiting LPs' shares for nothing.
/// What an owner owes Ballast (InsuranceFund.recourseDebt) is repaid first from what it withdraws; while it
/// owes, its shares cannot be transferred (RecourseDebtOutstanding) and nothing can be deposited or minted
/// for it (maxDeposit = maxMint = 0), so that it cannot move its claim to a clean address.
interface ILiquidityVault is IERC4626 {
    /// @notice The perps engine whose pool this vault owns.
    function market() external view returns (IPerpMarket);
}
