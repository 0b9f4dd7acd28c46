// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IInsuranceFund} from "../interfaces/IInsuranceFund.sol";
import {Events} from "../libraries/Events.sol";
import {MathLib} from "../libraries/MathLib.sol";
import {BadDebtTotals, NegativeBalancePolicy} from "../libraries/RiskTypes.sol";

/// @title LossWaterfall
/// @notice The one path every deficit takes, shared by lending and perps (DESIGN.md section 5). The account's
/// own collateral or margin has already been taken by the caller; what is left goes:
/// 1. to the market's reserves (insurance money it holds but has not swept to the fund yet), then
/// 2. to the insurance fund, up to its balance, then
/// 3. is socialised: the caller applies `socialised` its own way (suppliers' haircut, the LP vault).
/// Under RECOURSE the whole deficit is also recorded as the account's debt; what it repays later refunds
/// the insurance fund. Every step is evented (DeficitRealised) and added to the market's BadDebtTotals.
library LossWaterfall {
    struct Outcome {
        uint256 fromReserves;
        uint256 fromInsurance;
        uint256 socialised;
    }

    /// @param reserves The reserves the caller holds and may use; it must deduct `fromReserves` itself.
    function run(
        BadDebtTotals storage totals,
        IInsuranceFund fund,
        NegativeBalancePolicy policy,
        address account,
        uint256 deficit,
        uint256 reserves
    ) internal returns (Outcome memory o) {
        o.fromReserves = MathLib.min(deficit, reserves);
        uint256 rest = deficit - o.fromReserves;
        if (rest > 0) o.fromInsurance = fund.cover(rest);
        o.socialised = rest - o.fromInsurance;
        uint256 recourse = policy == NegativeBalancePolicy.RECOURSE ? deficit : 0;
        if (recourse > 0) fund.recordRecourse(account, recourse);

        totals.deficit += uint128(deficit);
        totals.coveredByInsurance += uint128(o.fromReserves + o.fromInsurance);
        totals.socialised += uint128(o.socialised);
        totals.recourseRecorded += uint128(recourse);
        emit Events.DeficitRealised(
            account,
            deficit,
            o.fromReserves,
            o.fromInsurance,
            o.socialised,
            recourse
        );
    }
}
