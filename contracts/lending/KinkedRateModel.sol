// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IRateModel} from "../interfaces/IRateModel.sol";
import {Bounds} from "../libraries/Bounds.sol";
import {Errors} from "../libraries/Errors.sol";
import {Events} from "../libraries/Events.sol";

/// @title KinkedRateModel
/// @notice Borrow rate = base + slope1 x min(u, kink) / kink + slope2 x max(u - kink, 0) / (1 - kink), per
/// year, divided into a per-second rate rounded up (borrowers never pay less than the curve says).
contract KinkedRateModel is IRateModel, AccessControl {
    uint256 internal constant WAD = 1e18;
    uint256 public constant SECONDS_PER_YEAR = 365 days;
    uint256 public constant MAX_BASE_RATE = 1e18; // 100% a year
    uint256 public constant MAX_SLOPE1 = 2e18; // 200% a year
    uint256 public constant MAX_SLOPE2 = 10e18; // 1000% a year
    uint256 public constant MIN_KINK = 0.01e18;
    uint256 public constant MAX_KINK = 0.99e18;

    /// @dev All four in one slot: read together on every accrual.
    struct Curve {
        uint64 baseRate;
        uint64 slope1;
        uint64 slope2;
        uint64 kink;
    }

    Curve public curve;

    constructor(address admin, uint64 baseRate, uint64 slope1, uint64 slope2, uint64 kink) {
        if (admin == address(0)) revert Errors.ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setCurve(baseRate, slope1, slope2, kink);
    }

    /// @inheritdoc IRateModel
    function borrowRatePerSecond(uint256 utilisation) external view returns (uint256) {
        return (borrowRatePerYear(utilisation) + SECONDS_PER_YEAR - 1) / SECONDS_PER_YEAR;
    }

    /// @notice The borrow rate per year (WAD) at `utilisation`; utilisation above 1 is read as 1.
    function borrowRatePerYear(uint256 utilisation) public view returns (uint256) {
        Curve memory c = curve;
        uint256 u = utilisation > WAD ? WAD : utilisation;
        if (u <= c.kink) return c.baseRate + (uint256(c.slope1) * u) / c.kink;
        return c.baseRate + c.slope1 + (uint256(c.slope2) * (u - c.kink)) / (WAD - c.kink);
    }

    /// @notice Sets the curve (per-year WAD rates, kink as a WAD utilisation). Admin only.
    /// @dev Bounds: baseRate [0, 100%], slope1 [0, 200%], slope2 [0, 1000%], kink [1%, 99%]. A new curve
    /// applies to each market from its last accrual: call `accrueInterest` on the markets first.
    /// Emits RateCurveSet.
    function setCurve(
        uint64 baseRate,
        uint64 slope1,
        uint64 slope2,
        uint64 kink
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setCurve(baseRate, slope1, slope2, kink);
    }

    function _setCurve(uint64 baseRate, uint64 slope1, uint64 slope2, uint64 kink) internal {
        Bounds.check("baseRate", baseRate, 0, MAX_BASE_RATE);
        Bounds.check("slope1", slope1, 0, MAX_SLOPE1);
        Bounds.check("slope2", slope2, 0, MAX_SLOPE2);
        Bounds.check("kink", kink, MIN_KINK, MAX_KINK);
        curve = Curve(baseRate, slope1, slope2, kink);
        emit Events.RateCurveSet(baseRate, slope1, slope2, kink);
    }
}
