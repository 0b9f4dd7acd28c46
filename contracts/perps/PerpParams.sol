// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IPerpMarket} from "../interfaces/IPerpMarket.sol";
import {Bounds} from "../libraries/Bounds.sol";
import {Errors} from "../libraries/Errors.sol";

/// @title PerpParams
/// @notice The bounds of every perps parameter (IPerpMarket.setMarketParams and setGlobalParams document
/// them). An external library, linked into PerpMarket, so that the engine stays under the 24 KiB code limit.
library PerpParams {
    uint256 internal constant WAD = 1e18;
    /// @notice Highest maxFundingRate: 10% of the price a day, WAD per second.
    uint256 public constant MAX_FUNDING_RATE = uint256(0.1e18) / 1 days;

    /// @dev Reverts with OutOfBounds or InvalidMarginParams.
    function checkMarket(IPerpMarket.MarketParams memory p) public pure {
        Bounds.check("initialMargin", p.initialMargin, 0.005e18, WAD);
        Bounds.check("maintenanceMargin", p.maintenanceMargin, 0.001e18, WAD);
        Bounds.check("tradingFee", p.tradingFee, 0, 0.01e18);
        if (p.maintenanceMargin >= p.initialMargin || p.liquidationFee > p.maintenanceMargin) {
            revert Errors.InvalidMarginParams(p.initialMargin, p.maintenanceMargin, p.liquidationFee);
        }
        Bounds.check("marginScale", p.marginScale, WAD, 1e36);
        Bounds.check("skewScale", p.skewScale, WAD, 1e36);
        Bounds.check("maxLongOI", p.maxLongOI, 0, 1e36);
        Bounds.check("maxShortOI", p.maxShortOI, 0, 1e36);
        Bounds.check("maxFundingRate", p.maxFundingRate, 0, MAX_FUNDING_RATE);
        Bounds.check("adlPnlFactor", p.adlPnlFactor, 0.01e18, WAD);
    }

    /// @param baseUnit Base units per whole base token.
    /// @dev Reverts with OutOfBounds.
    function checkGlobal(IPerpMarket.GlobalParams memory g, uint256 baseUnit) public pure {
        Bounds.check("insuranceFeeShare", g.insuranceFeeShare, 0, WAD);
        Bounds.check("keeperLiquidationShare", g.keeperLiquidationShare, 0, WAD);
        Bounds.check("lpReserveFactor", g.lpReserveFactor, 0, 0.5e18);
        Bounds.check("orderKeeperFee", g.orderKeeperFee, 0, 100 * baseUnit);
    }
}
